// exactly: serve | check | race. Replaced by the real wiring.
int main() { return 0; }
