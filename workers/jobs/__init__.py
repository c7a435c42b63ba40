"""arq job functions, one module per area; each is ``async def name(ctx, ...)``.

``ctx`` is the worker context built in ``workers.settings.startup``: ``settings`` (Settings),
``db`` (Database), ``queue`` (JobQueue), ``redis`` (the worker's Redis connection), and arq's own
``job_id`` / ``job_try``.  Jobs routed from outbox topics (``workers.relay.TOPIC_JOBS``) are called
as ``job(ctx, event)`` with ``event = EventMessage.to_dict()``; they may run more than once for
one event (at-least-once), so they check what they already did.
"""
