"""The launcher: the `frontdesk` command (launcher/cli.py), the supervisor that runs the whole
mesh on one machine (launcher/supervisor.py) and the demo tenant it seeds (launcher/demo_tenant.py).

It sits at the top of the house: it may import every service; nothing imports it.
"""
