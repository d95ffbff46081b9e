"""One idle gRPC connection on loopback made by Flower's own helpers (create_channel and
generic_create_grpc_server: flwr.common.grpc in 1.25, flwr.supercore.grpc in 1.41+) with the
gRPC health service, one call, then SECONDS idle: what keepalive does meanwhile shows in the
gRPC trace (GRPC_TRACE=http_keepalive) on stderr. Run by test/keepalive.bats."""
import socket
import sys
import time

try:
    from flwr.common.grpc import create_channel, generic_create_grpc_server
except ImportError:
    from flwr.supercore.grpc import create_channel, generic_create_grpc_server
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
with socket.socket() as s:  # a free port; the server binds it again at once
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
address = "127.0.0.1:%d" % port
server = generic_create_grpc_server(
    (health.HealthServicer(), health_pb2_grpc.add_HealthServicer_to_server), address, max_concurrent_workers=4)
server.start()
channel = create_channel(address, insecure=True)
reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
print("address:", address, flush=True)
print("health:", health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status), flush=True)
time.sleep(seconds)
print("idle: %.1f s" % seconds, flush=True)
channel.close()
server.stop(0)
