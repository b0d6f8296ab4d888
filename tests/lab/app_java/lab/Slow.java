package lab;

/** A slow request that holds its thread, to fill a small thread pool. */
final class Slow {
    private Slow() {}

    static void hold(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
