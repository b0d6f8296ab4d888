package lab;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Counts the orders in the lab's PostgreSQL (`lab.db.url`, `lab.db.password`) over JDBC. */
final class OrdersDb {
    private OrdersDb() {}

    static int count() throws SQLException {
        String url = System.getProperty("lab.db.url");
        String password = System.getProperty("lab.db.password");
        try (Connection db = DriverManager.getConnection(url, "app", password); // lab: db
                Statement st = db.createStatement();
                ResultSet rows = st.executeQuery("SELECT count(*) FROM pg_class")) {
            rows.next();
            return rows.getInt(1);
        }
    }
}
