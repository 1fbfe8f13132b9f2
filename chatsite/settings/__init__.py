"""Settings split by purpose: base (shared), local (a newcomer's machine), test,
production.

Every value that varies between machines is read here from the environment; app code
reads `django.conf.settings`, never the environment.
"""
