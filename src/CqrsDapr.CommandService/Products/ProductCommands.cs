using CqrsDapr.Contracts.Products;

namespace CqrsDapr.CommandService.Products;

/// <summary>The fields of a new product, already validated and normalised (SKU and currency upper case).</summary>
public sealed record NewProduct(string Sku, string Name, string? Description, string Category, Money Price, int Stock);

/// <summary>Create a product under a server-generated id.</summary>
public sealed record CreateProduct(Guid Id, NewProduct Product);

/// <summary>
/// A JSON merge patch of a product's details. A null field is not part of the patch, except
/// <see cref="Description"/>, where <see cref="SetsDescription"/> tells "clear it" (null) from "leave it".
/// </summary>
public sealed record ProductPatch(string? Name = null, bool SetsDescription = false, string? Description = null, string? Category = null, Money? Price = null);

/// <summary>Change a product's details; <paramref name="ExpectedVersion"/> comes from <c>If-Match</c>.</summary>
public sealed record UpdateProduct(Guid Id, ProductPatch Patch, long? ExpectedVersion);

/// <summary>Add (positive) or remove (negative) stock.</summary>
public sealed record AdjustProductStock(Guid Id, int Delta, string Reason, long? ExpectedVersion);

public sealed record DeleteProduct(Guid Id, long? ExpectedVersion);
