# flkit: apply FLOWER_GRPC_KEEPALIVE_TIME_MS / _TIMEOUT_MS (what fl-launch writes from
# FL_GRPC_KEEPALIVE_TIME/_TIMEOUT) to every gRPC channel and server the process creates, by
# wrapping grpc.server, grpc.secure_channel and grpc.insecure_channel. Flower (1.25-1.39: the
# Fleet API is gRPC) calls them as module attributes and gives no way to set keepalive itself.
# grpc is patched when it is first imported, not before: a process that never uses gRPC never
# loads it. Python 3.9+.
import functools
import os
import sys

TIME_VAR = "FLOWER_GRPC_KEEPALIVE_TIME_MS"
TIMEOUT_VAR = "FLOWER_GRPC_KEEPALIVE_TIMEOUT_MS"
# The server's floor for a client's ping interval on a connection without data: 30 s (design
# 04 §2.5: what a client at FL_GRPC_KEEPALIVE_TIME >= 30 s needs), lowered to half the configured
# interval when that is shorter, so a client with the same value is never counted as abusive.
# gRPC core reads it as "grpc.http2.min_ping_interval_without_data_ms" (the C macro is
# GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS; a key spelled after the macro is ignored).
MIN_RECV_PING_CAP_MS = 30000


def _ms(name):
    """The variable as a positive integer, None when unset; ValueError when it is not one."""
    text = os.environ.get(name)
    if text is None:
        return None
    if not text.isdigit() or not text.isascii() or int(text) <= 0 or int(text) > 2**31 - 1:
        raise ValueError("%s=%r is not a positive integer of milliseconds" % (name, text))
    return int(text)


def options_from_env():
    """(client options, server options), or None when keepalive is not asked for or bad."""
    try:
        time_ms, timeout_ms = _ms(TIME_VAR), _ms(TIMEOUT_VAR)
    except ValueError as exc:
        sys.stderr.write("flkit: %s; gRPC keepalive left as Flower sets it\n" % exc)
        return None
    if time_ms is None:
        return None
    common = [("grpc.keepalive_time_ms", time_ms)]
    if timeout_ms is not None:
        common.append(("grpc.keepalive_timeout_ms", timeout_ms))
    # Pings on an idle connection are the point: that is what a firewall's idle timer sees.
    common.append(("grpc.keepalive_permit_without_calls", 1))
    client = common + [("grpc.http2.max_pings_without_data", 0)]
    server = common + [
        ("grpc.http2.min_ping_interval_without_data_ms", min(MIN_RECV_PING_CAP_MS, time_ms // 2)),
        ("grpc.http2.max_ping_strikes", 0),
    ]
    return client, server


def merge(options, ours):
    """options (a sequence of (key, value), or None) with ours replacing the same keys."""
    keys = {k for k, _ in ours}
    return [(k, v) for k, v in (options or ()) if k not in keys] + list(ours)


def _wrap(fn, position, ours):
    """fn with its options argument (keyword, or positional at position) merged with ours."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if len(args) > position:
            args = args[:position] + (merge(args[position], ours),) + args[position + 1 :]
        else:
            kwargs["options"] = merge(kwargs.get("options"), ours)
        return fn(*args, **kwargs)

    wrapper.flkit_keepalive = True
    return wrapper


def patch(grpc, client, server):
    """Wrap grpc's constructors (options is argument 3 of server, 2 of secure_channel, 1 of
    insecure_channel); a second call changes nothing."""
    for name, position, ours in (
        ("server", 3, server),
        ("secure_channel", 2, client),
        ("insecure_channel", 1, client),
    ):
        fn = getattr(grpc, name, None)
        if fn is not None and not getattr(fn, "flkit_keepalive", False):
            setattr(grpc, name, _wrap(fn, position, ours))


class _Finder:
    """A meta-path finder that lets the normal machinery load grpc, then patches it."""

    def __init__(self, client, server):
        self.client, self.server = client, server

    def find_spec(self, name, path=None, target=None):
        if name != "grpc":
            return None
        import importlib.util

        sys.meta_path.remove(self)  # once: grpc is imported once
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module
        client, server = self.client, self.server

        def exec_module(module):
            run(module)
            patch(module, client, server)

        spec.loader.exec_module = exec_module
        return spec


def install():
    """Patch grpc now if it is loaded, else when it is first imported. False when the
    variables ask for nothing (or are bad: one line on stderr)."""
    opts = options_from_env()
    if opts is None:
        return False
    if "grpc" in sys.modules:
        patch(sys.modules["grpc"], *opts)
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder(*opts))
    return True
