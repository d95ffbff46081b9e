"""flkit's gRPC keepalive hook (share/python) without grpcio: a stand-in grpc package records
the options its constructors get; each case is a fresh interpreter started as fl-launch starts
Flower (PYTHONPATH naming the hook's directory). Run: python3 test/keepalive_hook_test.py"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "share", "python")

# A grpc whose constructors return their options; importing it is logged to GRPC_LOADED.
FAKE_GRPC = """
import os
open(os.environ["GRPC_LOADED"], "a").write("loaded\\n")
def server(thread_pool, handlers=None, interceptors=None, options=None, maximum_concurrent_rpcs=None):
    return options
def secure_channel(target, credentials, options=None, compression=None):
    return options
def insecure_channel(target, options=None, compression=None):
    return options
"""

# What the child reports: whether grpc was loaded at start-up, then the options each
# constructor ends up with, called as Flower 1.25 calls them (keywords) and positionally.
PROBE = """
import json, sys
loaded_early = "grpc" in sys.modules
import grpc
flower = [("grpc.max_send_message_length", 536870912), ("grpc.keepalive_time_ms", 210000),
          ("grpc.http2.max_pings_without_data", 0), ("grpc.keepalive_permit_without_calls", 0)]
print(json.dumps({
    "loaded_early": loaded_early,
    "patched": getattr(grpc.server, "flkit_keepalive", False),
    "server": grpc.server(None, None, None, flower),
    "server_kw": grpc.server(None, options=flower),
    "secure": grpc.secure_channel("a:1", None, options=flower[:1]),
    "insecure": grpc.insecure_channel("a:1"),
    "insecure_pos": grpc.insecure_channel("a:1", (("x", 1),)),
    "chained": "flkit_chained_sitecustomize" in sys.modules,
}))
"""


class Hook(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        os.makedirs(os.path.join(self.dir, "fake", "grpc"))
        with open(os.path.join(self.dir, "fake", "grpc", "__init__.py"), "w") as f:
            f.write(FAKE_GRPC)
        self.loaded = os.path.join(self.dir, "loaded")

    def tearDown(self):
        self.tmp.cleanup()

    def run_probe(self, env, extra_path=()):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GRPC_LOADED": self.loaded}
        e["PYTHONPATH"] = os.pathsep.join([HOOK, os.path.join(self.dir, "fake"), *extra_path])
        e.update(env)
        p = subprocess.run([sys.executable, "-c", PROBE], env=e, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout), p.stderr

    def test_options_merged(self):
        out, err = self.run_probe(
            {"FLOWER_GRPC_KEEPALIVE_TIME_MS": "60000", "FLOWER_GRPC_KEEPALIVE_TIMEOUT_MS": "20000"})
        self.assertEqual(err, "")
        self.assertFalse(out["loaded_early"], "grpc must be patched when imported, not imported at start-up")
        self.assertTrue(out["patched"])
        server = dict(out["server"])
        self.assertEqual(len(server), len(out["server"]), "one value per key")
        self.assertEqual(server, {
            "grpc.max_send_message_length": 536870912,  # Flower's own, kept
            "grpc.http2.max_pings_without_data": 0,  # Flower's own, kept
            "grpc.keepalive_time_ms": 60000,
            "grpc.keepalive_timeout_ms": 20000,
            "grpc.keepalive_permit_without_calls": 1,
            "grpc.http2.min_ping_interval_without_data_ms": 30000,
            "grpc.http2.max_ping_strikes": 0,
        })
        self.assertEqual(dict(out["server_kw"]), server)
        client = {"grpc.keepalive_time_ms": 60000, "grpc.keepalive_timeout_ms": 20000,
                  "grpc.keepalive_permit_without_calls": 1, "grpc.http2.max_pings_without_data": 0}
        self.assertEqual(dict(out["secure"]), {"grpc.max_send_message_length": 536870912, **client})
        self.assertEqual(dict(out["insecure"]), client)
        self.assertEqual(dict(out["insecure_pos"]), {"x": 1, **client})

    def test_short_interval_lowers_the_server_floor(self):
        out, _ = self.run_probe({"FLOWER_GRPC_KEEPALIVE_TIME_MS": "1000", "FLOWER_GRPC_KEEPALIVE_TIMEOUT_MS": "500"})
        self.assertEqual(dict(out["server"])["grpc.http2.min_ping_interval_without_data_ms"], 500)

    def test_unset_patches_nothing(self):
        out, err = self.run_probe({})
        self.assertEqual(err, "")
        self.assertFalse(out["patched"])
        self.assertEqual(dict(out["server"])["grpc.keepalive_time_ms"], 210000)
        self.assertIsNone(out["insecure"])

    def test_bad_values_ignored_with_one_line(self):
        for env in ({"FLOWER_GRPC_KEEPALIVE_TIME_MS": "abc"}, {"FLOWER_GRPC_KEEPALIVE_TIME_MS": "0"},
                    {"FLOWER_GRPC_KEEPALIVE_TIME_MS": "-5"}, {"FLOWER_GRPC_KEEPALIVE_TIME_MS": "６０"},
                    {"FLOWER_GRPC_KEEPALIVE_TIME_MS": "60000", "FLOWER_GRPC_KEEPALIVE_TIMEOUT_MS": "20s"}):
            with self.subTest(env=env):
                out, err = self.run_probe(env)
                self.assertFalse(out["patched"])
                self.assertIsNone(out["insecure"])
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertIn("flkit: FLOWER_GRPC_KEEPALIVE_TIME", err)
                self.assertIn("left as Flower sets it", err)

    def test_without_grpc_python_still_starts(self):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": HOOK,
             "FLOWER_GRPC_KEEPALIVE_TIME_MS": "60000", "FLOWER_GRPC_KEEPALIVE_TIMEOUT_MS": "20000"}
        p = subprocess.run([sys.executable, "-c", "import json; print('ok')"], env=e, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "ok\n", ""))

    def test_chains_to_the_shadowed_sitecustomize(self):
        other = os.path.join(self.dir, "other")
        os.makedirs(other)
        with open(os.path.join(other, "sitecustomize.py"), "w") as f:
            f.write("import os\nopen(os.environ['GRPC_LOADED'] + '.site', 'w').write('ran')\n")
        for env in ({}, {"FLOWER_GRPC_KEEPALIVE_TIME_MS": "60000", "FLOWER_GRPC_KEEPALIVE_TIMEOUT_MS": "20000"}):
            with self.subTest(env=env):
                out, _ = self.run_probe(env, extra_path=[other])
                self.assertTrue(out["chained"])
                with open(self.loaded + ".site") as f:
                    self.assertEqual(f.read(), "ran")
                os.unlink(self.loaded + ".site")


if __name__ == "__main__":
    unittest.main()
