.TP
.B show
Read the sources once and print the training for a person:
.RS
.PP
.nf
Training: running, round 2 of 3 (FedAvg)
Clients: 2 connected, 2 selected, 2 responded, 0 failed (registered 2, min 2)
Checkpoints saved: 2
Round  Loss      Accuracy
    1  0.9100    0.5200  ####
    2  0.6200    0.7100  ######
Last event 12 s ago
.fi
.PP
.RE
A stalled round adds a warning line.
The chart is the accuracy of each round (the loss scaled to the largest when no accuracy is
known), in Unicode block characters when LC_ALL, LC_CTYPE or LANG names UTF-8, else
.BR # ;
at most the last 20 rounds are shown and the line above them says how many are hidden.
Values not known are
.BR \- .
The sources are
.B \-\-follow
and
.BR \-\-db ;
with neither, the state database of the configuration
.RI ( /opt/flower/ FL_DATABASE ).
.B \-\-format json
prints the state as one JSON object (what
.B parse \-\-format json
prints).
Exit 1 naming the sources when none could be read.
