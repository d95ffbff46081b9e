# metrics-events.awk: N realistic Flower log lines for the fl-metrics benchmarks and memory
# checks, deterministic, written as they are made (pipe them anywhere):
#   awk -v n=1000000 [-v chatter=9] -f bench/metrics-events.awk
# After each event come `chatter` (default 9) ordinary JSON log lines without an event: 90%
# of the lines by default, none with chatter=0. The events are the 12 of design 04 §3.2 as a
# federation emits them: runs of 50 rounds, per round round_start, a
# client joining, failing and leaving, round_end, evaluation_result, checkpoint_saved,
# training_stalled and the gpu events; training_start with four SuperNodes joining, and
# training_end with them leaving. Keys in the reference formatter's order. Every fifth line is
# wrapped in Docker's json-file envelope. Node ids are new in every run (the state's node set
# must not grow with history).
function ts(i, s) {
	s = int(i / 50)
	return sprintf("2026-02-%02d T%02d:%02d:%02d.%03dZ", 1 + int(s / 86400) % 28,
		int(s / 3600) % 24, int(s / 60) % 60, s % 60, (i * 20) % 1000)
}
function emit(level, msg, event, data, line) {
	if (done >= n)
		exit
	line = "{\"timestamp\":\"" ts(done) "\",\"level\":\"" level "\",\"logger\":\"flwr\",\"role\":\"superlink\",\"message\":\"" msg "\",\"source\":\"" (event == "" ? "server.py:" (100 + done % 400) : ":0") "\""
	if (event != "")
		line = line ",\"event\":\"" event "\",\"data\":{" data "}"
	line = line "}"
	sub(/ T/, "T", line)
	done++
	if (done % 5 == 0) {
		gsub(/"/, "\\\"", line)
		line = "{\"log\":\"" line "\\n\",\"stream\":\"stderr\",\"time\":\"2026-02-09T14:30:05.123456789Z\"}"
	}
	print line
}
function ordinary(k, i) {
	for (i = 0; i < k; i++) {
		c++
		if (c % 7 == 0)
			emit("DEBUG", "Heartbeat received from node " (1000 + c % 97), "", "")
		else if (c % 7 == 1)
			emit("INFO", "[ROUND " r "]", "", "")
		else if (c % 7 == 2)
			emit("INFO", "configure_train: Sampled 4 nodes (out of 4)", "", "")
		else if (c % 7 == 3)
			emit("INFO", "aggregate_train: Received 3 results and 1 failures", "", "")
		else if (c % 7 == 4)
			emit("INFO", "Aggregated MetricRecord: {'loss': 0.41, 'accuracy': 0.87}", "", "")
		else if (c % 7 == 5)
			emit("WARNING", "No fit_metrics_aggregation_fn provided", "", "")
		else
			emit("INFO", "Pulled 1 message(s) from node " (2000 + c % 89) ", run 4281", "", "")
	}
}
function ev(event, data, level) {
	emit(level == "" ? "INFO" : level, event ": {...}", event, data)
	ordinary(chat)
}
BEGIN {
	if (n == "")
		n = 1000000
	chat = chatter == "" ? 9 : chatter + 0
	r = 1
	done = 0
	for (run = 1; ; run++) {
		ev("training_start", "\"strategy\":\"FedAvg\",\"num_rounds\":50,\"min_clients\":4")
		for (j = 1; j <= 4; j++)
			ev("client_join", "\"node_id\":\"" run "-" j "\",\"client_address\":\"10.0.1." (20 + j) ":41234\"")
		ev("gpu_detected", "\"gpu_name\":\"NVIDIA A100 80GB PCIe\",\"gpu_memory_mb\":81920,\"driver_version\":\"550.54.15\"")
		for (r = 1; r <= 50; r++) {
			dur = (run * 50 + r) * 37 % 700 + 0.25
			loss = sprintf("%.6g", 2.3 / (r + 1))
			acc = sprintf("%.6g", 1 - 0.9 / (r + 1))
			ev("round_start", "\"round\":" r ",\"num_clients_selected\":4,\"strategy\":\"FedAvg\"")
			ev("client_join", "\"node_id\":\"" run "-x" r "\",\"client_address\":\"10.0.2." r ":5555\"")
			ev("client_failure", "\"round\":" r ",\"node_id\":\"" run "-x" r "\",\"error_type\":\"TimeoutError\"", "WARNING")
			ev("round_end", "\"round\":" r ",\"num_clients_responded\":3,\"aggregated_loss\":" loss ",\"aggregated_accuracy\":" acc ",\"round_duration_seconds\":" dur)
			ev("evaluation_result", "\"round\":" r ",\"loss\":" loss ",\"accuracy\":" acc ",\"num_examples\":10000")
			ev("checkpoint_saved", "\"round\":" r ",\"path\":\"/app/checkpoints/checkpoint_round_" r ".npz\",\"size_bytes\":" (44000000 + r))
			ev("client_leave", "\"node_id\":\"" run "-x" r "\",\"reason\":\"timeout\"")
			if (r % 10 == 0)
				ev("training_stalled", "\"round\":" r ",\"waiting_since_seconds\":310,\"connected_clients\":3,\"required_clients\":4", "WARNING")
			if (r % 25 == 0)
				ev("gpu_unavailable", "\"fallback_device\":\"cpu\"", "WARNING")
		}
		ev("training_end", "\"total_rounds\":50,\"final_loss\":" loss ",\"final_accuracy\":" acc ",\"total_duration_seconds\":" (run * 1000 + 0.5))
		for (j = 1; j <= 4; j++)
			ev("client_leave", "\"node_id\":\"" run "-" j "\",\"reason\":\"shutdown\"")
	}
}
