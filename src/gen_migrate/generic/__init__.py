"""The platform-independent model: types, operations, migration files, schema replay."""
