# flkit: Python start-up hook for Flower processes that fl-launch starts (PYTHONPATH names this
# directory). Flower does not read FLOWER_GRPC_KEEPALIVE_TIME_MS/_TIMEOUT_MS, so
# flkit_grpc_keepalive applies them to Flower's gRPC channels and servers (design 04 §2.5).
# PYTHONPATH comes first on sys.path, so this file hides any other sitecustomize (Debian's in
# /usr/lib/python3.X): that one is run too, after ours is set up.
import os
import sys


def _flkit_chain():
    """Run the sitecustomize this one shadows, if any (as Python would have without us)."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # Whoever imports sitecustomize later gets the one that did the site's work, plus ours.
    sys.modules["flkit_chained_sitecustomize"] = module


# Only the keepalive variables cost an import; unset, start-up does nothing more than a lookup.
if os.environ.get("FLOWER_GRPC_KEEPALIVE_TIME_MS") is not None:
    try:
        import flkit_grpc_keepalive

        flkit_grpc_keepalive.install()
    except Exception as exc:  # a start-up hook must never stop Python
        sys.stderr.write("flkit: gRPC keepalive hook not installed: %s\n" % exc)

try:
    _flkit_chain()
except Exception as exc:
    sys.stderr.write("flkit: the shadowed sitecustomize failed: %s\n" % exc)
