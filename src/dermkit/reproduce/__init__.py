"""Reproduction studies: published protocols re-run beside honest ones."""
