/* TCP_NODELAY on every TCP socket the process connects, Paho's included. */
#ifndef SHOP_NODELAY_H
#define SHOP_NODELAY_H

/* Turns TCP_NODELAY on for every TCP socket the process connects from now
 * on (nodelay.c interposes connect(); the binary links with export_dynamic). */
void nodelay_enable(void);

#endif
