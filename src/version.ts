/** The tcptools version, printed by `tcptools --version`. */
export const VERSION = "0.1.0";
