"""Each system controls only itself: its workers obey remote control (Celery's pidbox) sent on
their own system's control exchange only, and never tell anyone a broker password.

* ``common_settings`` gives every system its own ``control_exchange``, named for its prefix
  (``system_a`` -> exchange ``system_a.pidbox``, reply exchange ``reply.system_a.pidbox``,
  worker queues ``<node>.system_a.pidbox``), and deploy/rabbitmq/permissions.json lets only
  that system's user (and the operator's tools) publish there. By default every worker on a
  vhost listens on ``celery.pidbox``, so any system's user could shut down, cancel the
  consumers of, rate-limit, revoke on or inspect any other system's workers.
  https://docs.celeryq.dev/en/stable/userguide/configuration.html#control-exchange
* Permissions cannot stop a publish through the default exchange, which every sender needs
  (it is how callbacks reach a caller's queue): with it, a user who knows a worker's node name
  could post a command straight into that worker's pidbox queue. :class:`OwnControl` obeys a
  command only if the broker delivered it through the system's control exchange; RabbitMQ sets
  the delivery's exchange, so a sender cannot forge it.
* ``inspect conf`` masks the broker URL only under the lowercase ``broker_url`` keys
  (``celery.app.utils.filter_hidden_settings``); Django's ``CELERY_BROKER_URL`` went out in
  clear. :func:`conf` masks the password of every URL in the answer, whatever its key.
"""

from collections.abc import Mapping
from typing import Any

from celery.utils.log import get_logger
from celery.utils.saferepr import saferepr
from celery.utils.serialization import jsonify
from celery.worker.consumer.control import Control
from celery.worker.control import inspect_command
from kombu.utils.url import maybe_sanitize_url

logger = get_logger(__name__)

MASK = "********"


def censored(value: Any) -> Any:
    """``value`` with the password of every URL in it masked, at any depth."""
    if isinstance(value, Mapping):
        return {key: censored(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [censored(item) for item in value]
    if isinstance(value, str) and "://" in value:
        return maybe_sanitize_url(value, mask=MASK)
    return value


# Replaces Celery's own ``conf`` command (celery/worker/control.py) in any worker that imports
# the wire layer: the same answer, with every URL's password masked.
@inspect_command(
    alias="dump_conf",
    signature="[include_defaults=False]",
    args=[("with_defaults", lambda raw: str(raw).lower() in ("1", "true", "yes", "on"))],
)
def conf(state: Any, with_defaults: bool = False, **kwargs: Any) -> Any:
    """List configuration, with every URL's password masked."""
    table = state.app.conf.table(with_defaults=with_defaults)
    return jsonify(
        censored(table),
        keyfilter=lambda key: isinstance(key, str) and not key.startswith("__"),
        unknown_type_filter=saferepr,
    )


class OwnControl(Control):
    """Celery's remote-control step, obeying only what its own control exchange delivered."""

    def __init__(self, c: Any, **kwargs: Any) -> None:
        super().__init__(c, **kwargs)
        box = self.box  # type: ignore[attr-defined]  # set by Control.__init__
        obey = box.on_message
        exchange = box.node.mailbox.exchange.name

        def on_message(body: Any, message: Any) -> None:
            delivered_by = (message.delivery_info or {}).get("exchange")
            if delivered_by != exchange:
                logger.critical(
                    "Ignoring a remote-control command %r delivered through exchange %r, not "
                    "this system's control exchange %r",
                    (body or {}).get("method") if isinstance(body, dict) else body,
                    delivered_by,
                    exchange,
                )
                return
            obey(body, message)

        box.on_message = on_message
