package lab;

/** A report that allocates more than the heap (-Xmx) holds: OutOfMemoryError. */
final class Reports {
    private Reports() {}

    static int build(int megabytes) {
        long[] rows = new long[megabytes * 131072]; // lab: report
        return rows.length;
    }
}
