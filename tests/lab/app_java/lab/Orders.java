package lab;

/** An order total whose quantity does not parse: a NumberFormatException, wrapped. */
final class Orders {
    private Orders() {}

    static int total(String quantity) {
        try {
            return 42 * Integer.parseInt(quantity); // lab: checkout
        } catch (NumberFormatException e) {
            throw new IllegalStateException("order 42 has a bad quantity", e);
        }
    }
}
