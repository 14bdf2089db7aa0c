"""Perception: devices from many vendors on one standard, turned into readings and alarms."""
