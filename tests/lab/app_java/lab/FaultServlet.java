package lab;

import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * The Tomcat lab's app (tests/lab/tomcat.rs): one path per fault, each failing the way real
 * servlets do, so Tomcat logs what it really logs for it.
 */
public class FaultServlet extends HttpServlet {
    /** The order count; a database that cannot be reached fails the request, with its cause. */
    private static int orders() throws ServletException {
        try {
            Class.forName("org.postgresql.Driver");
            return OrdersDb.count();
        } catch (ClassNotFoundException | java.sql.SQLException e) {
            throw new ServletException("cannot load the orders", e);
        }
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp)
            throws IOException, ServletException {
        String path = req.getServletPath();
        switch (path) {
            case "/checkout" -> resp.getWriter().println(Orders.total("x"));
            case "/report" -> resp.getWriter().println(Reports.build(Integer.getInteger("lab.report.mb", 512)));
            case "/export" -> Export.write(System.getProperty("lab.export.dir"), 1 << 20);
            case "/slow", "/late" -> Slow.hold(Long.getLong("lab.slow.ms", 2000L));
            case "/hang" -> Slow.holdMarked(System.getProperty("lab.mark"), 60_000L);
            case "/orders" -> resp.getWriter().println(orders());
            default -> resp.getWriter().println("ok " + path);
        }
    }
}
