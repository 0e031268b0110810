namespace CqrsDapr.AppHost;

/// <summary>A PostgreSQL server run as a child process, serving one application database.</summary>
internal sealed class PostgresServerResource(string name, string command, string workingDirectory, string database)
    : ExecutableResource(name, command, workingDirectory)
{
    public const string EndpointName = "tcp";

    /// <summary>The application database, created with the data directory.</summary>
    public string Database { get; } = database;

    public EndpointReference Endpoint => field ??= new EndpointReference(this, EndpointName);

    /// <summary>Npgsql (ADO.NET) form, as EF Core reads it.</summary>
    public ReferenceExpression NpgsqlConnectionString => ReferenceExpression.Create(
        $"Host={Endpoint.Property(EndpointProperty.Host)};Port={Endpoint.Property(EndpointProperty.Port)};Username={ServerBinaries.PostgresUser};Database={Database}");

    /// <summary>Key-value form, as Dapr's <c>state.postgresql</c> component (pgx) reads it.</summary>
    public ReferenceExpression DaprConnectionString => ReferenceExpression.Create(
        $"host={Endpoint.Property(EndpointProperty.Host)} port={Endpoint.Property(EndpointProperty.Port)} user={ServerBinaries.PostgresUser} dbname={Database}");
}
