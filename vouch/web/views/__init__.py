"""
Server-rendered pages: thin over the services. Each view parses a form, calls one service,
and answers a form with a redirect (Post/Redirect/Get): a refused form waits in the session
(`vouch.web.form_state`) and the page it leads to shows its errors, focused.
"""
