"""``pyjax.random``'s implementation: the Threefry primitive, keys, samplers."""
