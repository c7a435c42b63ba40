"""Background work: the arq worker, the outbox relay, and the jobs they run."""
