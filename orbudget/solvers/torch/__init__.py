"""torch adapters: learned and GPU-batched parts (imported lazily by each adapter)."""
