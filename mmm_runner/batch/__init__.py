"""`mmm batch`: many runs at once on a Dask cluster (docs/batch.md).

``plan`` turns config files or a sweep into checked run tasks (every config is
validated before anything runs), ``work`` is what a worker does with one task
(the ordinary single-run pipeline), ``cluster`` is the one importer of Dask,
``summary`` ranks the runs by out-of-sample score and writes the batch folder, and
``runner`` ties them together.
"""
