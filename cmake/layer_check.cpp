// Linked against one engine layer (whole) and the layers below it, to
// prove that the layer calls nothing above it: see EngineLayers.cmake.
int main() { return 0; }
