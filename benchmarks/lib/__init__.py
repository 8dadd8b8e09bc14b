"""What the benchmarks share.

- `processes`: child processes stopped in order whatever happens, CPU and RSS of a process tree, a peak sampler.
- `database`: a PostgreSQL server (embedded or DATABASE_URL) and throw-away databases on it.
- `emulator`: the Bot API emulator as a child process, its control API, readiness from its polling stats.
- `figures`: percentiles (the package's one implementation), summaries, shares, medians, number formatting.
- `machine`: the machine a run was measured on.
- `snapshot`: a frozen copy of piyasa_bot/ and sql/ that every process of a session runs.

Nothing here imports piyasa_bot at module level: a benchmark that runs a code
snapshot imports the snapshot's piyasa_bot, not the checkout's.
"""
