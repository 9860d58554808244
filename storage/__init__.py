"""Storage for huifang: SQLAlchemy models, repositories and Alembic migrations.

Import the submodules you need (`storage.db`, `storage.repositories`, `storage.migrate`);
importing this package creates nothing and connects to nothing.
"""
