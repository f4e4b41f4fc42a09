"""Licence plates: locate and read a vehicle's plate, check it against a plate grammar, vote across frames."""
