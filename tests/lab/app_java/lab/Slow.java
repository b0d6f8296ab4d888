package lab;

/** A slow request that holds its thread, to fill a small thread pool. */
final class Slow {
    private Slow() {}

    /** Says it started (writes to the file `mark`, for the test that kills Tomcat), then holds. */
    static void holdMarked(String mark, long millis) throws java.io.IOException {
        java.nio.file.Files.writeString(java.nio.file.Path.of(mark), "started");
        hold(millis);
    }

    static void hold(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
