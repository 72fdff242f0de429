"""One acceptance run split across machines: ``pabot --shard i/n`` on n runners.

- ``ordering``: the suites in run order; the disruptive ones (restart, database outage) run
  after every shard, alone, because against one target they act on the system all shards use.
- ``pabotlib``: the shared PabotLib server every shard reaches (locks, run-once setups).
- ``combine``: the shards' output.xml files into one, as if one run had produced it, and the
  checks that nothing was lost: every shard present, the test list the suite defines.
- ``locks``: who held which PabotLib lock when, read from output.xml: no two holders at once.

``python -m shardkit --help`` lists the commands the scripts use.
"""
