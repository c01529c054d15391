"""``vdeblur serve``: a local web page to deblur a clip with a shipped model and compare before and after."""
