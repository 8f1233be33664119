"""Floating allocator: any ready desktop of the pool (R7 step 5)."""

from vdi_broker.allocators import base


class PoolAllocator(base.Allocator):
    """A pre-booted desktop from the pool, returned to it at logout."""

    def decide(self, request):
        return base.Decision(pool=self.record["pool_id"],
                             reason="floating desktop from the pool")
