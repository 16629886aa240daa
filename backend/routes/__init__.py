"""The HTTP routes, one module per capability; `create_app` includes each router.

Every router that needs the token declares it (`dependencies=[Depends(require_token)]`), so whether a route is
protected shows where it is defined.
"""
