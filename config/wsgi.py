import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

if os.environ.get("HELPDESK_WARM_ENCODER") == "1":
    # Load the query encoder now rather than on the first suggestion request (seconds on CPU).
    from helpdesk.encoders import get_encoder

    threading.Thread(target=get_encoder, name="warm-encoder", daemon=True).start()
