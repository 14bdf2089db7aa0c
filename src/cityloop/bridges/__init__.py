"""Links between two parts, made through their events (a sensor alarm opens a case)."""
