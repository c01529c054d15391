"""Deblurring a user's videos and frame folders: streaming windows, tiling, threads, the Deblurrer API."""
