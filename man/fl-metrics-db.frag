.\" fl-metrics-db.frag: the state database source (fl_linkdb, fl_flowerlog); the lead stitches
.\" it into fl-metrics(1) after SOURCES.
.SH STATE DATABASE
.B \-\-db FILE
reads the SuperLink state database
.RB ( "flower\-superlink \-\-database FILE" ,
.BR FL_DATABASE ;
without it Flower keeps its state in memory and there is nothing to read).
The file is opened read-only
.RB ( "file:FILE?mode=ro" ,
.BR "PRAGMA query_only" ),
with a busy timeout of 1 s; each poll is one short read transaction, so Flower's writes
and WAL checkpoints are never held up between polls.
A writer holding the lock longer than the timeout makes that poll fail (logged, exit 3
for
.BR parse );
the next poll reads again.
The file's bytes are never changed.
When Flower is not running and the database is in WAL mode without its
.B \-wal
and
.B \-shm
files, SQLite creates them beside it even for a read-only reader (an empty
.BR \-wal ,
a 32 KiB
.BR \-shm ;
owned by the database's owner when run as root), as the SuperLink itself does.
.PP
The schema is detected, never assumed: the tables and columns that exist and
.B alembic_version
(none in 1.25).
A metric whose table or column is missing is off, and
.B fl\-metrics
says once at INFO which ones
.RI ( "cannot give: ..." ).
A file that is not SQLite, or SQLite without the
.B node
and
.B run
tables, is an error naming the file (exit 1).
.SS What is derived
.TP
.B fl_clients_connected
nodes with
.B status = 'online'
and
.B online_until
after now (a SuperNode that vanishes without a word keeps
.B online
until
.B online_until
passes, about two heartbeat intervals: 60 s by default; in a 1.42 run a SuperNode killed
with SIGKILL was still deactivated and unregistered within 2 s).
The database's value replaces the event-derived one.
.TP
.B fl_clients_registered
nodes whose status is not
.BR unregistered .
.TP
.B client_join, client_leave
the changes of the online set between polls (node ids as unsigned 64-bit numbers: SQLite
stores them signed).
.TP
.B fl_training_status
the latest run (highest rowid): running (running_at set) 1; finished
.B completed
2;
.B failed
or
.B stopped
3; none, pending or starting 0.
Without a logs table the run's transitions are also the training_start and training_end
events.
.TP
.B rounds, selected, responded, failures, loss, accuracy, round durations
from the latest run's ServerApp output (its stdout and stderr, stored in the database):
the app's JSON events when any line of that run's output is one; otherwise Flower's own
lines. The two never both count for one run.
Flower stores the output in chunks of whole lines uploaded every few seconds, so rounds
show with that delay, and a round's duration (from the chunks' timestamps) is exact only
to that interval.
A poll reads at most 1000 rows of output (the next poll goes on);
.B parse
reads to the end.
.TP
.B fl_checkpoint_saved_total, training_stalled, gpu events
only from JSON events: Flower writes nothing for them.
.SS Flower's own lines
ANSI colours and the
.B "INFO :"
prefix are stripped; lines of the Message-API strategies and of the legacy ones give:
.TP
.B "Starting NAME strategy: + Number of rounds: N"
training_start (strategy NAME, num_rounds N).
.TP
.B "Starting Flower ServerApp, config: num_rounds=N"
training_start (legacy strategies; no strategy name).
.TP
.B "[ROUND n/N], [ROUND n]"
round_start n, with k of the next configure_train: Sampled k nodes (legacy: configure_fit: strategy sampled k clients) as the selected; when the strategy's banner was not seen (a log read from its middle), first training_start of N rounds.
.TP
.B "aggregate_train / aggregate_fit: Received k results and f failures"
responded k; f client_failure events (synthetic node ids, at most 1024 per line).
.TP
.B "Aggregated MetricRecord: {...} after aggregate_evaluate"
round_end, with the record's loss and accuracy (the keys ending in loss, accuracy or acc).
.TP
.B "fit progress: (n, L, ...)"
the round's loss (legacy, centralized evaluation).
.TP
.B "Strategy execution finished in Xs, Run finished N round(s) in Xs"
training_end (an open round ends first).
.PP
A round without evaluation ends at the next
.BR [ROUND ,
or at the end of training; its loss is then the train loss.
Only the first 1024 bytes of a line are read.
In a followed log (a SuperLink up to 1.26 prints the ServerApp's output on its own
stderr) the same lines give events until the file shows its first JSON event.
.SS What each Flower version stores
Found in real runs (the demo app, 2 SuperNodes, 3 rounds, loopback).
.TP
.B Flower 1.25
No
.BR alembic_version .
.B node
(status online while connected,
.B online_until
= last heartbeat + 2 x
.BR heartbeat_interval ;
a SuperNode that stops cleanly becomes
.B unregistered
with
.B online_until
set to that time);
.B run
(pending_at, starting_at, running_at, finished_at as ISO strings, '' while unset;
.BR sub_status );
.B logs
(timestamp REAL, run_id, node_id 0, log: a chunk of whole lines, 8 rows for 3 rounds);
.B message_ins
and
.B message_res
hold a message only while it is in flight (deleted once the reply is pulled) and their
.B group_id
is empty, so they give no round: not read.
.TP
.B Flower 1.42
.B alembic_version
d9bd9d502cf9.
.B run
has no status columns: its
.B primary_task_id
names a
.B task
row (type flwr\-serverapp; running_at, finished_at as
.IR "YYYY-MM-DD HH:MM:SS.ffffff+00:00" ,
.BR sub_status ).
The output is in
.B task_logs
(timestamp, task_id, log; 7 rows for 3 rounds); there is no
.B logs
table.
.B node
is as in 1.25 (plus location, name).
Flower's lines are the same as in 1.25.
