/* fl_var: the one registry of context variables; validation, defaults, help, man page and
 * USER_INPUTS are all generated from it. Facts: design files 01 §1.2, §7; 03 §2.2, §3.3;
 * 04 §3.8, §6. */
#include "fl_var.h"

#include <string.h>

#define SL   FL_ROLE_SUPERLINK
#define SN   FL_ROLE_SUPERNODE
#define BOTH (SL | SN)

/* clang-format off */
const struct fl_var fl_vars[] = {
	{"FLOWER_VERSION", BOTH, "text", "Flower Docker image version tag", "", "1.25.0",
	 FL_CK_VERSION, 0, 0, 0,
	 "Invalid FLOWER_VERSION: '{v}'. Expected format: X.Y.Z (e.g., 1.25.0)", NULL,
	 "Flower release to run, 1.25.0 or newer (the oldest fl-launch drives). SuperLink and SuperNodes must use the same version; set it at the service level."},
	{"FL_NUM_ROUNDS", SL, "number", "Number of federated learning rounds", "", "3",
	 FL_CK_POSINT, 0, 0, 0, "Invalid FL_NUM_ROUNDS: '{v}'. Must be a positive integer.", NULL,
	 "Training rounds; run-config key num-server-rounds."},
	{"FL_STRATEGY", SL, "list", "Aggregation strategy", "FedAvg,FedProx,FedAdam,Krum,Bulyan,FedTrimmedAvg", "FedAvg",
	 FL_CK_ENUM, 0, 0, 0,
	 "Unknown FL_STRATEGY: '{v}'. Valid options: FedAvg, FedProx, FedAdam, Krum, Bulyan, FedTrimmedAvg.", NULL,
	 "Aggregation strategy chosen by the ServerApp (run-config key strategy). Case-sensitive."},
	{"FL_MIN_FIT_CLIENTS", SL, "number", "Minimum clients for training round", "", "2",
	 FL_CK_POSINT, 0, 0, 0, "Invalid FL_MIN_FIT_CLIENTS: '{v}'. Must be a positive integer.", NULL,
	 "Clients sampled for training in each round; should not exceed FL_MIN_AVAILABLE_CLIENTS."},
	{"FL_MIN_EVALUATE_CLIENTS", SL, "number", "Minimum clients for evaluation", "", "2",
	 FL_CK_POSINT, 0, 0, 0, "Invalid FL_MIN_EVALUATE_CLIENTS: '{v}'. Must be a positive integer.", NULL,
	 "Clients sampled for evaluation in each round."},
	{"FL_MIN_AVAILABLE_CLIENTS", SL, "number", "Minimum available clients to start", "", "2",
	 FL_CK_POSINT, 0, 0, 0, "Invalid FL_MIN_AVAILABLE_CLIENTS: '{v}'. Must be a positive integer.", NULL,
	 "Connected clients needed before a round starts; the n of the Krum and Bulyan bounds."},
	{"FL_FLEET_API_ADDRESS", SL, "text", "Fleet API listen address (host:port)", "", "0.0.0.0:9092",
	 FL_CK_LISTEN, 0, 0, 0, "Invalid FL_FLEET_API_ADDRESS: '{v}'. Expected format: host:port, the host an IP address of this VM or 0.0.0.0 (a listen address: docker publishes IP addresses only).", NULL,
	 "Where the SuperLink accepts SuperNodes: an IP address of this VM, or 0.0.0.0 (published on the VM's address). IPv6 as [addr]:port."},
	{"FL_CONTROL_API_ADDRESS", SL, "text", "Control API listen address (host:port)", "", "0.0.0.0:9093",
	 FL_CK_HOSTPORT, 0, 0, 0, "Invalid FL_CONTROL_API_ADDRESS: '{v}'. Expected format: host:port.", NULL,
	 "Where the SuperLink accepts flwr CLI connections. IPv6 as [addr]:port."},
	{"FL_ISOLATION", BOTH, "list", "App execution isolation mode", "subprocess,process", "subprocess",
	 FL_CK_ENUM, 0, 0, 0, "Unknown FL_ISOLATION: '{v}'. Valid options: subprocess, process.", NULL,
	 "How ServerApp and ClientApp run; use the same mode on both sides."},
	{"FL_DATABASE", SL, "text", "Database path for state persistence", "", "state/state.db",
	 FL_CK_RELPATH, 0, 0, 0,
	 "Invalid FL_DATABASE: '{v}'. Must be a path relative to the container workdir /app, of letters, digits, '.', '_', '-' and '/' (e.g., state/state.db).", NULL,
	 "SuperLink state database, relative to /app (host /opt/flower/state)."},
	{"FL_LOG_LEVEL", BOTH, "list", "Log verbosity", "DEBUG,INFO,WARNING,ERROR", "INFO",
	 FL_CK_ENUM, 0, 0, 0, "Unknown FL_LOG_LEVEL: '{v}'. Valid options: DEBUG, INFO, WARNING, ERROR.", NULL,
	 "Flower log level, passed as FLWR_LOG_LEVEL."},
	{"FL_PROXIMAL_MU", SL, "number-float", "FedProx proximal term (mu)", "", "1.0",
	 FL_CK_FLOAT, 0, 0, 0, "Invalid FL_PROXIMAL_MU: '{v}'. Must be a non-negative float.", NULL,
	 "FedProx only: proximal term; 0 makes FedProx identical to FedAvg."},
	{"FL_SERVER_LR", SL, "number-float", "Server-side learning rate", "", "0.1",
	 FL_CK_FLOAT, 0, 0, FL_VF_MIN_OPEN, "Invalid FL_SERVER_LR: '{v}'. Must be a positive float.", NULL,
	 "FedAdam only: server learning rate (eta)."},
	{"FL_CLIENT_LR", SL, "number-float", "Client-side learning rate", "", "0.1",
	 FL_CK_FLOAT, 0, 0, FL_VF_MIN_OPEN, "Invalid FL_CLIENT_LR: '{v}'. Must be a positive float.", NULL,
	 "FedAdam only: client learning rate (eta_l)."},
	{"FL_NUM_MALICIOUS", SL, "number", "Expected malicious clients (Krum/Bulyan)", "", "0",
	 FL_CK_NONNEG, 0, 0, 0, "Invalid FL_NUM_MALICIOUS: '{v}'. Must be a non-negative integer.", NULL,
	 "Krum and Bulyan only: f. Krum needs n >= 2f+3, Bulyan n >= 4f+3 (n = FL_MIN_AVAILABLE_CLIENTS)."},
	{"FL_TRIM_BETA", SL, "number-float", "Trim fraction per tail (FedTrimmedAvg)", "", "0.2",
	 FL_CK_FLOAT, 0, 0.5, FL_VF_MIN_OPEN | FL_VF_MAX_OPEN,
	 "Invalid FL_TRIM_BETA: '{v}'. Must be a float between 0.0 and 0.5 (exclusive).", NULL,
	 "FedTrimmedAvg only: fraction cut from each tail."},
	{"FL_CHECKPOINT_ENABLED", SL, "boolean", "Enable model checkpointing", "", "NO",
	 FL_CK_YESNO, 0, 0, 0, "Invalid FL_CHECKPOINT_ENABLED: '{v}'. Must be YES or NO.", NULL,
	 "Save the global model every FL_CHECKPOINT_INTERVAL rounds. Case-sensitive."},
	{"FL_CHECKPOINT_INTERVAL", SL, "number", "Save checkpoint every N rounds", "", "5",
	 FL_CK_POSINT, 0, 0, 0, "Invalid FL_CHECKPOINT_INTERVAL: '{v}'. Must be a positive integer.", NULL,
	 "Checked only when FL_CHECKPOINT_ENABLED=YES."},
	{"FL_CHECKPOINT_PATH", SL, "text", "Checkpoint directory (container path)", "", "/app/checkpoints",
	 FL_CK_ABSPATH, 0, 0, 0,
	 "Invalid FL_CHECKPOINT_PATH: '{v}'. Must be an absolute container path of letters, digits, '.', '_', '-' and '/' (e.g., /app/checkpoints).", NULL,
	 "Container path the host directory /opt/flower/checkpoints is mounted on. Checked only when FL_CHECKPOINT_ENABLED=YES."},
	{"FL_GRPC_KEEPALIVE_TIME", BOTH, "number", "gRPC keepalive interval in seconds", "", "60",
	 FL_CK_POSINT, 0, 0, 0, "Invalid FL_GRPC_KEEPALIVE_TIME: '{v}'. Must be a positive integer.", NULL,
	 "Seconds between gRPC keepalive pings; below 10 is warned about. Use the same value on both sides."},
	{"FL_GRPC_KEEPALIVE_TIMEOUT", BOTH, "number", "gRPC keepalive ACK timeout in seconds", "", "20",
	 FL_CK_POSINT, 0, 0, 0,
	 "Invalid FL_GRPC_KEEPALIVE_TIMEOUT: '{v}'. Must be a positive integer less than FL_GRPC_KEEPALIVE_TIME.", NULL,
	 "Seconds to wait for a keepalive ACK; must be less than FL_GRPC_KEEPALIVE_TIME (default or set)."},
	{"FL_CERT_EXTRA_SAN", SL, "text", "Additional SAN entries for auto-generated cert (comma-separated)", "", "",
	 FL_CK_SAN_LIST, 0, 0, 0,
	 "Invalid FL_CERT_EXTRA_SAN entry: '{v}'. Expected format: IP:<addr> or DNS:<name>.", NULL,
	 "Extra subjectAltName entries, e.g. IP:10.10.9.0,DNS:flower.example.com. Used only for auto-generated certificates."},
	{"FL_METRICS_ENABLED", SL, "boolean", "Enable Prometheus metrics exporter", "", "NO",
	 FL_CK_YESNO, 0, 0, 0, "Invalid FL_METRICS_ENABLED: '{v}'. Must be YES or NO.", NULL,
	 "Expose training metrics on FL_METRICS_PORT."},
	{"FL_METRICS_PORT", SL, "number", "Prometheus metrics exporter port", "", "9101",
	 FL_CK_METRICS_PORT, 0, 0, 0, "Invalid FL_METRICS_PORT: '{v}'. Must be integer 1024-65535, not 9091-9093.", NULL,
	 "Port of /metrics; must not collide with the Flower ports."},
	{"FL_CONTROL_API_EXPOSED", SL, "boolean", "Expose the Control API on the Fleet port (Flower 1.40+; unsafe)", "", "NO",
	 FL_CK_YESNO_CI, 0, 0, 0, "Invalid FL_CONTROL_API_EXPOSED: '{v}'. Must be YES or NO.", NULL,
	 "Flower 1.40+ serves Fleet, Control and Runtime on one port without authenticating callers. NO: Flower listens on 127.0.0.1 and an nginx proxy passes only the Fleet routes. YES: the old exposure, anyone who reaches the Fleet port can run code on every SuperNode (warned at every start)."},
	{"FL_SUPERLINK_ADDRESS", SN, "text", "SuperLink Fleet API address (host:port)", "", "",
	 FL_CK_HOSTPORT, 0, 0, 0,
	 "Invalid FL_SUPERLINK_ADDRESS: '{v}'. Expected format: host:port or leave empty for OneGate discovery.", NULL,
	 "Static SuperLink address; empty means discovery through OneGate."},
	{"FL_NODE_CONFIG", SN, "text", "Space-separated key=value node config", "", "",
	 FL_CK_NODE_CONFIG, 0, 0, 0, "Invalid FL_NODE_CONFIG pair: '{v}'. Expected format: key=value.", NULL,
	 "Node config for the ClientApp, e.g. partition-id=0 num-partitions=2. Values may use letters, digits and . _ / : + , @ % -; Flower gets true/false as booleans, numbers as integers or floats (007 stays the string \"007\") and anything else as a string (see node-config in fl-context(1))."},
	{"FL_MAX_RETRIES", SN, "number", "Max reconnection attempts (0=unlimited)", "", "0",
	 FL_CK_NONNEG, 0, 0, 0, "Invalid FL_MAX_RETRIES: '{v}'. Must be a non-negative integer.", NULL,
	 "SuperNode reconnection attempts; 0 means unlimited (the flag is then omitted)."},
	{"FL_MAX_WAIT_TIME", SN, "number", "Max wait time for connection in seconds (0=unlimited)", "", "0",
	 FL_CK_NONNEG, 0, 0, 0, "Invalid FL_MAX_WAIT_TIME: '{v}'. Must be a non-negative integer.", NULL,
	 "SuperNode reconnection time budget; 0 means unlimited (the flag is then omitted)."},
	{"FL_GPU_ENABLED", SN, "boolean", "Enable GPU passthrough (requires GPU-enabled VM template)", "", "NO",
	 FL_CK_YESNO_CI, 0, 0, 0, "Invalid FL_GPU_ENABLED: '{v}'. Must be YES or NO.", NULL,
	 "Use the GPU when one is detected; falls back to CPU with a warning. Case-insensitive."},
	{"FL_CUDA_VISIBLE_DEVICES", SN, "text", "GPU device IDs visible to container (e.g., 0 or 0,1)", "", "all",
	 FL_CK_CUDA_DEVICES, 0, 0, 0,
	 "Invalid FL_CUDA_VISIBLE_DEVICES: '{v}'. Must be 'all' or comma-separated GPU IDs (e.g., 0,1).", NULL,
	 "GPUs the ClientApp sees; only with FL_GPU_ENABLED=YES."},
	{"FL_GPU_MEMORY_FRACTION", SN, "number-float", "GPU memory fraction for PyTorch (0.0-1.0)", "", "0.8",
	 FL_CK_FLOAT, 0, 1, 0, "Invalid FL_GPU_MEMORY_FRACTION: '{v}'. Must be a float between 0.0 and 1.0.", NULL,
	 "PyTorch per-process GPU memory fraction; only with FL_GPU_ENABLED=YES."},
	{"FL_DCGM_ENABLED", SN, "boolean", "Enable DCGM GPU metrics exporter", "", "NO",
	 FL_CK_YESNO, 0, 0, 0, "Invalid FL_DCGM_ENABLED: '{v}'. Must be YES or NO.", NULL,
	 "Run the DCGM exporter sidecar; needs FL_GPU_ENABLED=YES and a detected GPU."},
	{"FL_LOG_FORMAT", BOTH | FL_ROLE_SERVICE, "list", "Log output format", "text,json", "text",
	 FL_CK_ENUM, 0, 0, 0, "Invalid FL_LOG_FORMAT: '{v}'. Must be 'text' or 'json'.", NULL,
	 "text or json, for Flower and for the flkit tools."},
	{"FL_TLS_ENABLED", BOTH, "boolean", "Enable TLS encryption", "", "NO",
	 FL_CK_YESNO_CI, 0, 0, 0, "Invalid FL_TLS_ENABLED: '{v}'. Must be YES or NO.", NULL,
	 "SuperLink: serve TLS. SuperNode: YES forces TLS, NO forces insecure, unset follows the SuperLink. Case-insensitive."},
	{"FL_SSL_CA_CERTFILE", BOTH, "text64", "CA certificate (base64 PEM)", "", "",
	 FL_CK_PEM_CERT, 0, 0, 0,
	 "FL_SSL_CA_CERTFILE does not contain a valid base64-encoded PEM certificate.", NULL,
	 "SuperLink: operator CA (with FL_SSL_CERTFILE and FL_SSL_KEYFILE). SuperNode: CA to trust instead of OneGate's."},
	{"FL_SSL_CERTFILE", SL, "text64", "Server certificate (base64 PEM)", "", "",
	 FL_CK_PEM_CERT, 0, 0, 0,
	 "FL_SSL_CERTFILE does not contain a valid base64-encoded PEM certificate.", NULL,
	 "Operator-provided server certificate."},
	{"FL_SSL_KEYFILE", SL, "text64", "Server private key (base64 PEM)", "", "",
	 FL_CK_PEM_KEY, 0, 0, FL_VF_SECRET,
	 "FL_SSL_KEYFILE does not contain a valid base64-encoded PEM private key.", NULL,
	 "Operator-provided server key (RSA or EC, unencrypted). Secret: never logged."},
	{"FL_CA_FINGERPRINT", SN, "text", "Pinned SHA-256 fingerprint of the SuperLink CA", "", "",
	 FL_CK_SHA256, 0, 0, 0,
	 "Invalid FL_CA_FINGERPRINT: '{v}'. Expected a SHA-256 fingerprint: 64 hex digits, with or without colons.", NULL,
	 "Optional pin: a CA (from FL_SSL_CA_CERTFILE or OneGate) whose SHA-256 fingerprint differs is refused. fl-certgen superlink prints it as FL_CA_FINGERPRINT."},
	{"ML_FRAMEWORK", SN, "list", "ML framework", "pytorch,tensorflow,sklearn", "pytorch",
	 FL_CK_ENUM, 0, 0, 0, "Unknown ML_FRAMEWORK: '{v}'. Valid options: pytorch, tensorflow, sklearn.", "FL_FRAMEWORK",
	 "Framework variant of the SuperNode image. Also read as FL_FRAMEWORK."},
	{"FL_USE_CASE", SN, "list", "Pre-built use case template", "none,image-classification,anomaly-detection,llm-fine-tuning", "none",
	 FL_CK_ENUM, 0, 0, 0,
	 "Unknown FL_USE_CASE: '{v}'. Valid options: none, image-classification, anomaly-detection, llm-fine-tuning.", NULL,
	 "Pre-installed FAB to activate; must suit ML_FRAMEWORK."},
	{"FL_EDGE_BACKOFF", SN, "list", "Edge discovery retry backoff strategy", "exponential,fixed", "exponential",
	 FL_CK_ENUM, 0, 0, 0, "Invalid FL_EDGE_BACKOFF: '{v}'. Must be exponential or fixed.", NULL,
	 "Edge SuperNodes: OneGate discovery retry schedule."},
	{"FL_EDGE_MAX_BACKOFF", SN, "number", "Maximum backoff interval in seconds for edge discovery", "", "300",
	 FL_CK_POSINT, 0, 0, 0, "Invalid FL_EDGE_MAX_BACKOFF: '{v}'. Must be a positive integer.", NULL,
	 "Cap of one exponential discovery delay."},
};
/* clang-format on */

const size_t fl_nvars = sizeof fl_vars / sizeof fl_vars[0];

const struct fl_var *fl_var_find(const char *name)
{
	for (size_t i = 0; i < fl_nvars; i++)
		if (strcmp(fl_vars[i].name, name) == 0)
			return &fl_vars[i];
	return NULL;
}

size_t fl_var_index(const struct fl_var *v)
{
	return (size_t)(v - fl_vars);
}

const char *fl_role_name(unsigned role)
{
	switch (role) {
	case FL_ROLE_SUPERLINK: return "superlink";
	case FL_ROLE_SUPERNODE: return "supernode";
	case FL_ROLE_SERVICE: return "service";
	default: return "?";
	}
}

unsigned fl_role_parse(const char *s)
{
	if (strcmp(s, "superlink") == 0)
		return FL_ROLE_SUPERLINK;
	if (strcmp(s, "supernode") == 0)
		return FL_ROLE_SUPERNODE;
	if (strcmp(s, "service") == 0)
		return FL_ROLE_SERVICE;
	return 0;
}
