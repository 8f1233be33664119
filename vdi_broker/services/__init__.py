"""Business rules the API applies around one storage transaction.

The storage layer (``vdi_broker/db``) keeps data consistent: it locks,
compares and swaps, and refuses what would break an invariant. What an
operator's request *means* (which list of allocators is a valid order,
that an unbound desktop goes back to its pool) is decided here, and
handed to the storage function as explicit parameters, so the whole
change still commits in one transaction.
"""
