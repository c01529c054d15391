"""File input and output: images, videos and atomic writes. Colour conversions happen only here."""
