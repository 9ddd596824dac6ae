"""The publication kill switch: withdraw a layer, a field or an area from the public at once.

``store`` holds the database side (the ``publication`` schema, withdraw, restore, list),
``state`` the server's view of it (which layers and fields the public may not know of),
``admin`` the admin endpoint and page, ``cli`` the ``gisplatform publish`` commands.
"""
