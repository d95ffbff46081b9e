/* fl_hex: hexadecimal digits of untrusted text. */
#ifndef FL_HEX_H
#define FL_HEX_H

/* The value of one hex digit (0-9, a-f, A-F), or -1 for any other character. */
int fl_hex_digit(char c);

#endif
