using Npgsql;

namespace CqrsDapr.DaprEmulator.State;

/// <summary>
/// The connection pool of daprd's PostgreSQL components as they see it (pgx v5 <c>pgxpool</c> over puddle v2): at most
/// <c>MaxConns</c> connections in use, and an <see cref="AcquireAsync">acquire</see> over that limit <b>waits</b>, first
/// come first served, until a connection is returned or the caller's context is done (its deadline, its cancellation,
/// the store's own timeout). It never fails for lack of a connection.
/// </summary>
/// <remarks>
/// Npgsql's pool alone would differ: a connection it cannot give within the connection string's <c>Timeout</c> fails
/// with "The connection pool has been exhausted". Every use therefore takes one of these slots first, sized like the
/// Npgsql pool behind it, which so never has to wait; its <c>Timeout</c> only bounds opening a new physical connection,
/// like pgx's <c>connect_timeout</c>.
/// </remarks>
internal sealed class PgxPool(NpgsqlDataSource dataSource, int maxConns) : IAsyncDisposable
{
    private readonly SemaphoreSlim slots = new(maxConns, maxConns);

    /// <summary>Waits for a free connection (puddle's semaphore acquire, then a pooled or new connection).</summary>
    /// <exception cref="WaitCanceledException">The token ended the wait before a connection was free.</exception>
    public async Task<Lease> AcquireAsync(CancellationToken cancellationToken)
    {
        try
        {
            await slots.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException ex)
        {
            throw new WaitCanceledException(ex, cancellationToken);
        }

        try
        {
            return new Lease(await dataSource.OpenConnectionAsync(cancellationToken), slots);
        }
        catch
        {
            slots.Release();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await dataSource.DisposeAsync();
        slots.Dispose();
    }

    /// <summary>A connection taken from the pool; disposing returns it and frees its slot for the next waiter.</summary>
    internal sealed class Lease(NpgsqlConnection connection, SemaphoreSlim slots) : IAsyncDisposable
    {
        public NpgsqlConnection Connection => connection;

        public async ValueTask DisposeAsync()
        {
            try
            {
                await connection.DisposeAsync();
            }
            finally
            {
                slots.Release();
            }
        }
    }

    /// <summary>The wait for a connection ended before one was free (pgxpool's Acquire returning <c>ctx.Err()</c>).</summary>
    internal sealed class WaitCanceledException(OperationCanceledException inner, CancellationToken token)
        : OperationCanceledException("the wait for a free connection was canceled", inner, token);
}
