"""Noise control: stable fingerprints, the baseline file, inline suppressions and the severity threshold.

Imported only when the gate is on. ``apply.Acceptor`` is the one place outcomes pass through.
"""
