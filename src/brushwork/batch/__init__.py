"""``brushwork batch``: stylize folders and datasets, locally or on a Ray cluster, resumably.

The entry point is :func:`run_batch`; the modules split the work: ``items`` (inputs, pairing, output
names), ``manifest``, ``keys``, ``ledger``, ``worker`` (one item), ``local`` and ``ray_engine`` (the
engines) and ``runner`` (the driver).
"""

from brushwork.batch.runner import BatchEvent, BatchOptions, BatchSummary, Counts, run_batch

__all__ = ["BatchEvent", "BatchOptions", "BatchSummary", "Counts", "run_batch"]
