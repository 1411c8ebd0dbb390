/** Appends a value to a list kept on a method, so stacked decorators add up instead of overwriting. */
export function appendMethodMetadata<T>(key: string, value: T): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const values: T[] = Reflect.getMetadata(key, method) ?? [];
    Reflect.defineMetadata(key, [...values, value], method);
    return descriptor;
  };
}
