"""Administrative units: the province > district > commune > residential-group tree."""
