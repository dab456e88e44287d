"""The tests' MQTT client: paho-mqtt (Debian's python3-paho-mqtt, 1.6 API)
behind the few blocking calls a test needs: connect, publish and wait for the
broker's PUBACK, subscribe and collect what arrives."""

import json
import socket
import threading
import time
import uuid

import paho.mqtt.client as mqtt


def _no_delay(client, userdata, sock):
    # the broker sets TCP_NODELAY on its side (docs/protocol.md §Latency); without
    # it here too, a publish can wait for a delayed ACK before it is sent
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class BusClient:
    """An MQTT 3.1.1 client with a clean session on the broker at
    127.0.0.1:port. Messages of its subscriptions are collected from the
    moment it subscribes; messages() hands them out. close() when done."""

    def __init__(self, port, client_id=None, timeout=5.0, username=None, password=None):
        self.port = port
        self.timeout = timeout
        self._cond = threading.Condition()
        self._connack = None
        self._subacks = {}       # mid -> granted QoS list
        self._received = []      # (topic, payload text)
        cid = client_id or "it-%s" % uuid.uuid4().hex[:12]
        self.client = mqtt.Client(client_id=cid, clean_session=True, protocol=mqtt.MQTTv311)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_socket_open = _no_delay
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        try:
            self.client.connect("127.0.0.1", port, keepalive=30)
        except OSError as e:
            raise AssertionError("MQTT connect to port %d failed: %s" % (port, e)) from None
        self.client.loop_start()
        with self._cond:
            self._cond.wait_for(lambda: self._connack is not None, timeout)
            rc = self._connack
        if rc != 0:
            self.close()
            if rc is None:
                raise AssertionError("no MQTT CONNACK from port %d within %.0fs" % (port, timeout))
            raise AssertionError("MQTT CONNACK refused: %s" % mqtt.connack_string(rc))

    # paho's network thread calls these

    def _on_connect(self, client, userdata, flags, rc):
        with self._cond:
            self._connack = rc
            self._cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, granted_qos):
        with self._cond:
            self._subacks[mid] = granted_qos
            self._cond.notify_all()

    def _on_message(self, client, userdata, msg):
        with self._cond:
            self._received.append((msg.topic, msg.payload.decode("utf-8", "replace")))

    # the test's side

    def publish(self, topic, payload, qos=1, retain=False):
        """Publishes and waits until it is sent (QoS 0) or PUBACKed (QoS 1).
        payload: dict or list (sent as JSON), str or bytes."""
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload)
        if isinstance(payload, str):
            payload = payload.encode()
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise AssertionError("MQTT publish on %s failed: %s" % (topic, mqtt.error_string(info.rc)))
        info.wait_for_publish(self.timeout)
        if not info.is_published():
            raise AssertionError("no PUBACK for %s" % topic)

    def subscribe(self, topic_filter, qos=1):
        """Subscribes and waits for the SUBACK; fails if the broker refused."""
        rc, mid = self.client.subscribe(topic_filter, qos)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            raise AssertionError("MQTT subscribe to %s failed: %s" % (topic_filter, mqtt.error_string(rc)))
        with self._cond:
            if not self._cond.wait_for(lambda: mid in self._subacks, self.timeout):
                raise AssertionError("no SUBACK for %s within %.0fs" % (topic_filter, self.timeout))
            granted = self._subacks.pop(mid)
        if any(q == 0x80 for q in granted):
            raise AssertionError("the broker refused the subscription to %s" % topic_filter)

    def messages(self, duration):
        """(topic, payload text) of every message received since the last
        call, after waiting `duration` seconds for more."""
        time.sleep(duration)
        with self._cond:
            out, self._received = self._received, []
        return out

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()
