class InvalidScopes(ValueError):
    """
    Scopes a key cannot have: none, or unknown ones. Keys are made by staff in the admin (whose
    form offers only known scopes) and on the command line; the API never takes one.
    """
